import { Module, type DynamicModule } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AdminResourceService } from './admin/admin-resource.service';
import { StreamModeGate } from './admin/stream-mode.gate';
import { validationOptionsProvider } from './admin/validation-options.provider';
import { STRAIT_CONFIG } from './common/strait-config.token';
import type { StraitConfig } from './config/strait-config';
import { EventBus } from './events/event-bus';
import { HealthController } from './health/health.controller';
import { HealthService } from './health/health.service';
import { CertificatesController } from './certificates/certificates.controller';
import { dataPlaneProvider } from './data-plane/data-plane.provider';
import { ObservabilityService } from './observability/observability.service';
import { TrafficController } from './observability/traffic.controller';
import { PluginMetadataController } from './plugin-metadata/plugin-metadata.controller';
import { PluginMetadataPolicy } from './plugin-metadata/plugin-metadata.policy';
import { PluginsController } from './plugins/plugins.controller';
import { ConnectionsController } from './runtime/connections.controller';
import { MatchController } from './runtime/match.controller';
import { StatusController } from './runtime/status.controller';
import { ServicesController } from './services/services.controller';
import { ServicesPolicy } from './services/services.policy';
import { adminKeyringProvider, privateKeyFieldsProvider } from './settings/secrets.providers';
import { SettingsService } from './settings/settings.service';
import { SslsController } from './ssls/ssls.controller';
import { SslsPolicy } from './ssls/ssls.policy';
import { sqliteDataSourceOptions } from './store/data-source-options';
import { ResourceStore } from './store/resource-store';
import { StreamRoutesController } from './stream-routes/stream-routes.controller';
import { StreamRoutesPolicy } from './stream-routes/stream-routes.policy';
import { UpstreamsController } from './upstreams/upstreams.controller';
import { UpstreamsPolicy } from './upstreams/upstreams.policy';

/** The whole service for one loaded configuration. */
@Module({})
export class AppModule {
  static forRoot(config: StraitConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [TypeOrmModule.forRoot(sqliteDataSourceOptions(config.database.path))],
      controllers: [
        StreamRoutesController,
        UpstreamsController,
        SslsController,
        ServicesController,
        PluginMetadataController,
        PluginsController,
        StatusController,
        ConnectionsController,
        MatchController,
        TrafficController,
        CertificatesController,
        HealthController,
      ],
      providers: [
        { provide: STRAIT_CONFIG, useValue: config },
        EventBus,
        ResourceStore,
        SettingsService,
        adminKeyringProvider,
        privateKeyFieldsProvider,
        validationOptionsProvider,
        AdminResourceService,
        StreamModeGate,
        StreamRoutesPolicy,
        UpstreamsPolicy,
        SslsPolicy,
        ServicesPolicy,
        PluginMetadataPolicy,
        dataPlaneProvider,
        ObservabilityService,
        HealthService,
      ],
    };
  }
}
